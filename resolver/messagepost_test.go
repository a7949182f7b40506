package resolver_test

import (
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
)

// TestMessagePostThroughHandler: a Wazzup webhook whose message concerns
// an Instagram post keeps the post on the message, which GraphQL shows.
func TestMessagePostThroughHandler(t *testing.T) {
	e := newEnv(t)
	a := e.workspace()
	conn := a.wazzupConnection()
	var secret struct{ SetConnectionWebhookSecret string }
	a.do(`mutation($id: ID!) { setConnectionWebhookSecret(id: $id) }`, map[string]any{"id": conn.ID}, &secret)
	body, err := os.ReadFile("../connectors/wazzup/testdata/webhook_instagram_post.json")
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.Post(e.srv.URL+conn.WebhookPath+"?token="+secret.SetConnectionWebhookSecret, "application/json",
		strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("webhook: %d %s", res.StatusCode, b)
	}
	type post struct {
		ID, URL, Author, Description, ImageURL, PreviewURL, ImageSha1, PreviewSha1, PublishedAt, UpdatedAt string
		AuthorName                                                                                         *string
		Likes, Comments                                                                                    int
	}
	var got struct {
		Conversations struct {
			Edges []struct {
				Node struct {
					Messages struct {
						Edges []struct {
							Node struct {
								Text       *string
								ContentURL *string
								Post       *post
							}
						}
					}
				}
			}
		}
	}
	a.do(`{ conversations { edges { node { messages { edges { node { text contentUrl post { id url author authorName
	  description imageUrl previewUrl imageSha1 previewSha1 likes comments publishedAt updatedAt } } } } } } } }`, nil, &got)
	if len(got.Conversations.Edges) != 1 || len(got.Conversations.Edges[0].Node.Messages.Edges) != 2 {
		t.Fatalf("conversations %+v", got)
	}
	msgs := got.Conversations.Edges[0].Node.Messages.Edges // newest first
	image, comment := msgs[0].Node, msgs[1].Node
	want := post{ID: "2430659146657243411_41370968890", URL: "https://www.instagram.com/p/CG7b52ejyET", Author: "wztestdlv",
		Description: "Красота", ImageURL: "https://store.dev-wazzup24.com/dc8c036b4a0122bb238fc38dcb0391c125e916f2",
		PreviewURL: "https://store.dev-wazzup24.com/3a55c2920912de4b6a66d24568470dd4ad367c34",
		ImageSha1:  "dc8c036b4a0122bb238fc38dcb0391c125e916f2", PreviewSha1: "3a55c2920912de4b6a66d24568470dd4ad367c34",
		PublishedAt: "2020-10-29T13:12:51Z", UpdatedAt: "2020-12-25T14:18:17.958Z", Comments: 22}
	if comment.Post == nil || *comment.Post != want || comment.Text == nil || *comment.Text != "Где купить?" {
		t.Fatalf("comment %+v, post %+v", comment, comment.Post)
	}
	if image.Post != nil || image.ContentURL == nil || *image.ContentURL != "https://store.dev-wazzup24.com/full" {
		t.Fatalf("image %+v", image)
	}
}
